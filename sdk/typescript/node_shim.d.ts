// The few Node.js APIs webhooks_test.ts uses, declared here instead of installing
// @types/node, whose global `process` would clash with sdk_test.ts' own declaration.
declare const process: { argv: string[]; env: Record<string, string | undefined> };
declare module "node:fs" {
  export function readFileSync(path: string): Uint8Array;
  export function readdirSync(path: string): string[];
}
