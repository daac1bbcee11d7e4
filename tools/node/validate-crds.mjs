// Validates prometheus-operator resources (ServiceMonitor, PodMonitor, PrometheusRule, ...)
// against the operator's CRD schemas, as packaged by @kubernetes-models/prometheus-operator.
// kubernetes-validate knows no CRDs (it only warns), so the tests run this beside it.
//
//   node tools/node/validate-crds.mjs FILE...      (multi-document YAML; "-" reads stdin)
//
// Prints "ok Kind/name" per valid resource and "invalid Kind/name: reason" per invalid one;
// other kinds are listed as "skipped". Exit status: 0 all valid, 1 any invalid, 2 usage or
// unreadable input (including a monitoring.coreos.com kind this package does not model).
// Lives in tools/node so ESM resolution finds tools/node/node_modules.

import { readFileSync } from "node:fs";
import yaml from "js-yaml";
import * as models from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const GROUP = "monitoring.coreos.com/";

function read(path) {
  return readFileSync(path === "-" ? 0 : path, "utf8");
}

function describe(error) {
  // ajv errors arrive as one message listing every failed constraint.
  return String(error && error.message ? error.message : error).replace(/\s+/g, " ").trim();
}

function main(paths) {
  if (paths.length === 0) {
    console.error("usage: node validate-crds.mjs FILE... (- for stdin)");
    return 2;
  }
  let invalid = 0;
  for (const path of paths) {
    let documents;
    try {
      documents = yaml.loadAll(read(path)).filter((doc) => doc !== null && doc !== undefined);
    } catch (error) {
      console.error(`${path}: cannot read: ${describe(error)}`);
      return 2;
    }
    for (const doc of documents) {
      const id = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
      if (typeof doc.apiVersion !== "string" || !doc.apiVersion.startsWith(GROUP)) {
        console.log(`skipped ${id} (${doc.apiVersion})`);
        continue;
      }
      const Model = doc.apiVersion === `${GROUP}v1` ? models[doc.kind] : undefined;
      if (typeof Model !== "function" || typeof Model.prototype.validate !== "function") {
        console.error(`${path}: ${id}: no schema for ${doc.apiVersion} ${doc.kind}`);
        return 2;
      }
      try {
        new Model(doc).validate();
        console.log(`ok ${id}`);
      } catch (error) {
        invalid += 1;
        console.log(`invalid ${id}: ${describe(error)}`);
      }
    }
  }
  return invalid === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
