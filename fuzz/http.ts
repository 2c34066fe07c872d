export async function fuzzHttp(_o: { seed: number; count: number; deadline: number }): Promise<{ sent: number; raw: number; seconds: number; stoppedByTime: boolean; statuses: Record<string, number>; findings: string[] }> {
  return { sent: 0, raw: 0, seconds: 1, stoppedByTime: false, statuses: {}, findings: [] };
}
