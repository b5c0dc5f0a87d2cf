// Clustering off the main thread: supercluster indexes every point once, then answers the
// clusters in view for each pan and zoom. Each cluster carries its count per state.
import Supercluster, { type ClusterProperties } from 'supercluster'
import type { ClusterItem, WorkerReply, WorkerRequest } from './clusterProtocol'

interface PointProps {
  i: number
  s: number
}
// Per-state counts as scalar properties s0, s1, …: supercluster copies a cluster's
// properties shallowly, so an array would be shared with (and summed into) its children.
type ClusterProps = Record<string, number>

let index: Supercluster<PointProps, ClusterProps> | null = null
let states = 0

function build(lon: Float64Array, lat: Float64Array, state: Uint8Array, stateCount: number): void {
  states = stateCount
  const features = new Array(lon.length)
  for (let i = 0; i < lon.length; i++) {
    features[i] = {
      type: 'Feature',
      properties: { i, s: state[i] },
      geometry: { type: 'Point', coordinates: [lon[i], lat[i]] },
    }
  }
  index = new Supercluster<PointProps, ClusterProps>({
    radius: 64,
    maxZoom: 17,
    map: (props) => {
      const counts: ClusterProps = {}
      for (let k = 0; k < states; k++) counts[`s${k}`] = k === props.s ? 1 : 0
      return counts
    },
    reduce: (into, props) => {
      for (let k = 0; k < states; k++) into[`s${k}`] += props[`s${k}`]
    },
  }).load(features)
}

function clusters(bbox: [number, number, number, number], zoom: number): ClusterItem[] {
  if (!index) return []
  return index.getClusters(bbox, zoom).map((feature) => {
    const [lon, lat] = feature.geometry.coordinates
    const props = feature.properties as Partial<ClusterProperties & PointProps> & ClusterProps
    if (props.cluster) {
      const counts = Array.from({ length: states }, (_, k) => props[`s${k}`])
      return { lon, lat, count: props.point_count!, states: counts, cluster: props.cluster_id!, index: -1 }
    }
    const counts = new Array(states).fill(0)
    counts[props.s!] = 1
    return { lon, lat, count: 1, states: counts, cluster: -1, index: props.i! }
  })
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const message = event.data
  let reply: WorkerReply
  if (message.type === 'load') {
    build(message.lon, message.lat, message.state, message.stateCount)
    reply = { type: 'loaded', id: message.id }
  } else if (message.type === 'clusters') {
    reply = { type: 'clusters', id: message.id, items: clusters(message.bbox, message.zoom) }
  } else {
    reply = { type: 'expansion', id: message.id, zoom: index ? index.getClusterExpansionZoom(message.cluster) : 0 }
  }
  ;(self as unknown as Worker).postMessage(reply)
}
