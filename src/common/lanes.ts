/**
 * Runs `work` over `items` with at most `lanes` in flight at once, in order of the items; resolves with the
 * results in the same order. Each lane takes the next item when its last one settles, so one slow item holds
 * one lane, not a whole batch. The first rejection rejects the whole (as Promise.all does) once nothing else
 * is started.
 */
export async function inLanes<T, R>(items: readonly T[], lanes: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, items.length)) }, lane));
  return results;
}
