// Vite's import.meta.glob, which vitest provides in drill files (vite's own types are not a direct dependency).
interface ImportMeta {
  glob<T = Record<string, unknown>>(pattern: string | readonly string[], options?: { eager?: boolean; import?: string }): Record<string, T>;
}
