/**
 * Runs `work` over `items` with at most `lanes` in flight at once, starting them in the order of the items. Each
 * lane takes the next item when its last one settles, so one slow item holds one lane, not a whole batch.
 * `canStart(index)` is asked before each item is started: once it says no, nothing more starts. Resolves with the
 * results of the items started — a prefix of `items`, in their order. The first rejection rejects the whole (as
 * Promise.all does) once nothing else is started.
 */
export async function inLanes<T, R>(items: readonly T[], lanes: number, work: (item: T) => Promise<R>, canStart: (index: number) => boolean = () => true): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  let closed = false;
  const lane = async (): Promise<void> => {
    while (!closed && next < items.length) {
      if (!canStart(next)) {
        closed = true;
        break;
      }
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, items.length)) }, lane));
  return results;
}
