// Counts in the commands' messages, as a person writes them.

/** "1 lp node", "2 lp nodes", "no lp nodes". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return n === 0 ? `no ${many}` : `${n} ${n === 1 ? one : many}`;
}
