import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// The build lands in the Python package, where `xueliang serve` serves it at `/`.
const outDir = fileURLToPath(new URL('../src/xueliang/static/web', import.meta.url))
// `npm run dev` forwards the API to a running `xueliang serve` (XUELIANG_HTTP, default 127.0.0.1:8000).
const backend = `http://${process.env.XUELIANG_HTTP ?? '127.0.0.1:8000'}`

export default defineConfig({
  plugins: [vue()],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    outDir,
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts'
          if (id.includes('node_modules/leaflet') || id.includes('node_modules/supercluster')) return 'leaflet'
          if (id.includes('node_modules/naive-ui') || id.includes('node_modules/vueuc')) return 'naive'
          return undefined
        },
      },
    },
  },
  server: {
    proxy: { '/api': { target: backend, ws: true } },
  },
})
