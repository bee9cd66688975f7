import type { Api, AppDeps } from "./context.js"; export function registerWebhookRoutes(_api: Api, _deps: AppDeps): void {}
