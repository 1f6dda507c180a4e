/** True when dashboard/dist is missing or older than the dashboard's or src/'s sources. */
export function dashboardIsStale(): boolean;
/** Builds the dashboard with Vite when stale (or always with `force`); resolves true if it built. */
export function buildDashboard(options?: { force?: boolean }): Promise<boolean>;
