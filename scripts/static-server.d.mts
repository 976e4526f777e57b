export function serve(mounts: Record<string, string>, port?: number): Promise<{ url: string; close: () => Promise<void> }>;
