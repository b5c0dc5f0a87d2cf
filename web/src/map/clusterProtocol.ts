// Messages between the map and its clustering worker.

export interface ClusterItem {
  lon: number
  lat: number
  count: number
  states: number[] // points per state index
  cluster: number // supercluster id, -1 for a single point
  index: number // the point's index, -1 for a cluster
}

export type WorkerRequest =
  | { type: 'load'; id: number; lon: Float64Array; lat: Float64Array; state: Uint8Array; stateCount: number }
  | { type: 'clusters'; id: number; bbox: [number, number, number, number]; zoom: number }
  | { type: 'expansion'; id: number; cluster: number }

export type WorkerReply =
  | { type: 'loaded'; id: number }
  | { type: 'clusters'; id: number; items: ClusterItem[] }
  | { type: 'expansion'; id: number; zoom: number }

/** The worker as promises: one answer per request, matched by id. */
export class ClusterClient {
  private worker: Worker
  private next = 1
  private waiting = new Map<number, (reply: WorkerReply) => void>()

  constructor() {
    this.worker = new Worker(new URL('./cluster.worker.ts', import.meta.url), { type: 'module' })
    this.worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      this.waiting.get(event.data.id)?.(event.data)
      this.waiting.delete(event.data.id)
    }
  }

  private ask(message: WorkerRequest, transfer: Transferable[] = []): Promise<WorkerReply> {
    return new Promise((resolve) => {
      this.waiting.set(message.id, resolve)
      this.worker.postMessage(message, transfer)
    })
  }

  async load(lon: Float64Array, lat: Float64Array, state: Uint8Array, stateCount: number): Promise<void> {
    const id = this.next++
    await this.ask({ type: 'load', id, lon, lat, state, stateCount }, [lon.buffer, lat.buffer, state.buffer])
  }

  async clusters(bbox: [number, number, number, number], zoom: number): Promise<ClusterItem[]> {
    const reply = await this.ask({ type: 'clusters', id: this.next++, bbox, zoom })
    return reply.type === 'clusters' ? reply.items : []
  }

  async expansionZoom(cluster: number): Promise<number> {
    const reply = await this.ask({ type: 'expansion', id: this.next++, cluster })
    return reply.type === 'expansion' ? reply.zoom : 0
  }

  terminate(): void {
    this.worker.terminate()
  }
}
