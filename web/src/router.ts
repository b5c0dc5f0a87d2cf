import { createRouter, createWebHistory } from 'vue-router'
import { whenSignedOut } from './api/client'
import { ensureSession, may } from './session'

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
    // Governance pages: each needs one action (GET /auth/me lists the user's actions).
    {
      path: '/security',
      name: 'security',
      component: () => import('./views/SecurityView.vue'),
      meta: { action: 'view_audit' },
    },
    { path: '/audit', name: 'audit', component: () => import('./views/AuditView.vue'), meta: { action: 'view_audit' } },
    { path: '/users', name: 'users', component: () => import('./views/UsersView.vue'), meta: { action: 'manage_users' } },
    {
      path: '/grants',
      name: 'grants',
      component: () => import('./views/GrantsView.vue'),
      meta: { action: 'manage_users' },
    },
    { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
  ],
})

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (await ensureSession()) {
    const action = to.meta.action as string | undefined
    return !action || may(action) || { name: 'not-found', params: { rest: to.path.slice(1).split('/') } }
  }
  return { name: 'login', query: { next: to.fullPath } }
})

whenSignedOut(() => {
  const current = router.currentRoute.value
  if (current.name !== 'login') {
    void router.push({ name: 'login', query: { next: current.fullPath, expired: '1' } })
  }
})
