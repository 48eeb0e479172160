// Many requests, a few at a time: `job(i)` for i = 0 … n-1, started in order,
// at most `concurrency` running at once (a slow upstream need not make a test slow).
export async function inLanes(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
}
