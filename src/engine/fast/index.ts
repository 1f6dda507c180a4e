// The fast backend (see backend.ts for the design).
export { createFastBackend, type FastBackend, type FastBackendOptions, fastBackend } from './backend.ts';
