// Loads a Dataform include the way Dataform does (a CommonJS module evaluated with the `dataform`
// global), with the vars of our choosing, so helpers can be tested in isolation.
import { readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";

const INCLUDES = path.resolve(import.meta.dirname, "../../includes");

export function loadInclude<T = Record<string, (...args: never[]) => string>>(name: string, vars: Record<string, string>): T {
  const source = readFileSync(path.join(INCLUDES, `${name}.js`), "utf8");
  const module = { exports: {} as T };
  vm.runInNewContext(source, { module, exports: module.exports, dataform: { projectConfig: { vars } } }, { filename: `${name}.js` });
  return module.exports;
}
