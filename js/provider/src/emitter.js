// @ts-check
/**
 * A minimal typed event emitter (works the same in browsers and Node).
 * @template {Record<string, unknown>} Events
 */
export class Emitter {
  /** @type {Map<keyof Events, Set<(value: any) => void>>} */
  #listeners = new Map();

  /**
   * Subscribes; returns the unsubscribe function.
   * @template {keyof Events} K
   * @param {K} event
   * @param {(value: Events[K]) => void} fn
   * @returns {() => void}
   */
  on(event, fn) {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => {
      set?.delete(fn);
    };
  }

  /**
   * @template {keyof Events} K
   * @param {K} event
   * @param {Events[K]} value
   * @returns {void}
   */
  emit(event, value) {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(value);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
