import { createRouter, createWebHistory } from 'vue-router'
import { whenSignedOut } from './api/client'
import { ensureSession } from './session'

// Views load on demand, so the first screen fetches only what it draws.
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
    { path: '/', name: 'map', component: () => import('./views/MapView.vue') },
    { path: '/dashboard', name: 'dashboard', component: () => import('./views/DashboardView.vue') },
    { path: '/channels', name: 'channels', component: () => import('./views/ChannelsView.vue') },
    {
      path: '/channels/:id',
      name: 'channel',
      component: () => import('./views/ChannelDetailView.vue'),
      props: true,
    },
    { path: '/workorders', name: 'workorders', component: () => import('./views/WorkOrdersView.vue') },
    { path: '/reports', name: 'reports', component: () => import('./views/ReportsView.vue') },
    { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
  ],
})

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (await ensureSession()) return true
  return { name: 'login', query: { next: to.fullPath } }
})

whenSignedOut(() => {
  const current = router.currentRoute.value
  if (current.name !== 'login') {
    void router.push({ name: 'login', query: { next: current.fullPath, expired: '1' } })
  }
})
