// The admin UI's build: src/ui -> dist/ui, served by the service under P/admin/ (src/plugins/ui.ts).
// JSX through esbuild (no Babel plugin needed).
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root,
  base: '/api/plugins/streamspace-node-manager/admin/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: fileURLToPath(new URL('../../dist/ui', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
    rollupOptions: {
      // MUI marks its modules "use client" (for React Server Components): meaningless in a bundle.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return
        warn(warning)
      },
    },
  },
})
