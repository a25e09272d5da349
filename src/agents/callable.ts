/** Methods clients may call over RPC, with their options. Keyed by the method function itself. */
const registry = new WeakMap<Function, CallableOptions>();

export interface CallableOptions {
  /** The method streams: it gets a StreamingResponse as its first argument. */
  streaming?: boolean;
  description?: string;
}

/**
 * Mark a method as callable by clients (`@callable()` or
 * `@callable({ streaming: true })`). Methods without it cannot be called
 * over RPC; server-side stubs may call any method.
 */
export function callable(options: CallableOptions = {}) {
  return function <T extends Function>(method: T, _context: ClassMethodDecoratorContext): T {
    registry.set(method, options);
    return method;
  };
}

export function callableOptions(method: unknown): CallableOptions | undefined {
  return typeof method === "function" ? registry.get(method) : undefined;
}

/** The callable options of a method by name, looking up the prototype chain: an override of a callable method stays callable. */
export function callableByName(instance: object, method: string): CallableOptions | undefined {
  for (let p = Object.getPrototypeOf(instance); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, method);
    const opts = d ? callableOptions(d.value) : undefined;
    if (opts) return opts;
  }
  return undefined;
}
