// Validates Kubernetes manifests offline against the Kubernetes OpenAPI schemas packaged in the npm
// kubernetes-models package (no cluster, no network). Used by tests/NHub.Platform.Tests (KubernetesManifestTests);
// runnable by hand:
//   NHUB_NODE_MODULES=.tools/node/node_modules node deploy/kubernetes/validate.mjs deploy/kubernetes/*.yaml
// Prints one JSON object: {"documents":[{"file","index","apiVersion","kind","name","error","object"}]}, where
// error is null for a valid object; exits 1 when any document is invalid.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.env.NHUB_NODE_MODULES && resolve(process.env.NHUB_NODE_MODULES);
if (!modules) {
  console.error("set NHUB_NODE_MODULES to the node_modules folder that holds kubernetes-models and yaml");
  process.exit(2);
}
const YAML = createRequire(join(modules, "noop.js"))("yaml");

async function modelOf(apiVersion, kind) {
  // "v1" is the core group (kubernetes-models/v1/...), "apps/v1" a named group (kubernetes-models/apps/v1/...).
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9.\/-]+$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) {
    throw new Error(`apiVersion and kind must be set (got ${JSON.stringify(apiVersion)}, ${JSON.stringify(kind)})`);
  }
  const file = join(modules, "kubernetes-models", ...apiVersion.split("/"), kind + ".js");
  try {
    return (await import(pathToFileURL(file).href))[kind];
  } catch {
    throw new Error(`no schema for ${apiVersion} ${kind} in kubernetes-models`);
  }
}

const documents = [];
for (const file of process.argv.slice(2)) {
  const parsed = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  parsed.forEach((doc, index) => {
    documents.push({ file: basename(file), index, doc });
  });
}
const results = [];
for (const { file, index, doc } of documents) {
  const result = { file, index, apiVersion: null, kind: null, name: null, error: null, object: null };
  try {
    if (doc.errors.length > 0) throw new Error("YAML: " + doc.errors.map(e => e.message).join("; "));
    const object = doc.toJS();
    result.object = object;
    result.apiVersion = object?.apiVersion ?? null;
    result.kind = object?.kind ?? null;
    result.name = object?.metadata?.name ?? null;
    const Model = await modelOf(result.apiVersion, result.kind);
    new Model(object).validate();
  } catch (e) {
    result.error = String(e?.message ?? e);
  }
  results.push(result);
}
console.log(JSON.stringify({ documents: results }));
process.exit(results.some(r => r.error !== null) ? 1 : 0);
