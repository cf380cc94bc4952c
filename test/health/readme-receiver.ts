// The webhook receiver's signature check exactly as docs/alerts.md shows it (section "Health and
// alerts"): the code block is read from that page and imported, so what the docs tell receivers
// to run is what the tests run.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export type VerifySignature = (secret: string, header: string | undefined, body: string | Buffer, now?: number, toleranceSeconds?: number) => boolean

export async function readmeReceiverCheck(): Promise<VerifySignature> {
  const readme = readFileSync(new URL('../../docs/alerts.md', import.meta.url), 'utf8')
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((code) => code.includes('function verifyStreamSpaceSignature'))
  if (!block) throw new Error('docs/alerts.md: no js block with verifyStreamSpaceSignature')
  const file = join(mkdtempSync(join(tmpdir(), 'readme-receiver-')), 'verify.mjs')
  writeFileSync(file, block)
  const mod = await import(pathToFileURL(file).href) as { verifyStreamSpaceSignature: VerifySignature }
  return mod.verifyStreamSpaceSignature
}
