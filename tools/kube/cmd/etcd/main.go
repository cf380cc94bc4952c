// etcd for the test suite, built from the etcd server module at the version k8s.io/kubernetes
// itself requires, so no etcd binary has to come from anywhere else.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
