import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileProject, ProjectCompiler } from "../../runner/compile.ts";
import { copyProject, type ProjectCopy } from "../support/project_copy.ts";

let copy: ProjectCopy;
let project: string;
beforeAll(async () => {
  copy = await copyProject();
  project = copy.dir;
});
afterAll(async () => copy.remove());

describe("compiling the Dataform project", () => {
  it("compiles again only when a file under definitions/ or includes/ changes", async () => {
    const compiler = new ProjectCompiler({ warehouse: "duckdb" }, project);
    expect((await compiler.current()).compiled).toBe(true);
    expect((await compiler.current()).compiled).toBe(false);

    const model = path.join(project, "definitions", "marts", "top_items_by_location.sqlx");
    await writeFile(model, (await readFile(model, "utf8")).replace("ranked.item_count\n", "ranked.item_count,\n    'edited' as edited_column\n"));
    const edited = await compiler.current();
    expect(edited.compiled).toBe(true);
    expect(edited.graph.tables.find((t) => t.target.name === "top_items_by_location")!.query).toContain("edited_column");

    await writeFile(path.join(project, "includes", "extra.js"), "module.exports = { answer: 42 };\n");
    expect((await compiler.current()).compiled).toBe(true);
  });

  it("passes vars to the compile and reports a broken model with its file", async () => {
    const graph = await compileProject({ warehouse: "duckdb", top_x: "3" }, project);
    expect(graph.tables.find((t) => t.target.name === "top_items_by_location")!.query).toContain("item_rank <= 3");
    await writeFile(path.join(project, "definitions", "broken.sqlx"), 'config { type: "table" }\nselect ${ref("no_such_table")}\n');
    await expect(compileProject({}, project)).rejects.toThrow(/no_such_table/);
    await rm(path.join(project, "definitions", "broken.sqlx"));
  });

  it("refuses a var value that the Dataform CLI would split", async () => {
    await expect(compileProject({ locations_uri: "a,b" }, project)).rejects.toThrow(/cannot contain commas/);
  });
});
