// Renders /openapi.json as a list of operations (no external viewer, nothing loaded from elsewhere).
"use strict";

async function showDocs() {
  const spec = await (await fetch("/openapi.json")).json();
  const out = document.getElementById("paths");
  out.replaceChildren();
  const title = document.createElement("h2");
  title.textContent = `${spec.info.title} ${spec.info.version}`;
  const intro = document.createElement("p");
  intro.textContent = spec.info.description || "";
  out.append(title, intro);
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const block = document.createElement("div");
      block.className = "question";
      const head = document.createElement("code");
      head.textContent = `${method.toUpperCase()} ${path}`;
      const summary = document.createElement("span");
      summary.textContent = ` ${op.summary || ""}`;
      block.append(head, summary);
      const body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
      if (body) {
        const details = document.createElement("details");
        const label = document.createElement("summary");
        label.textContent = "request body schema";
        const pre = document.createElement("pre");
        pre.textContent = JSON.stringify(body.schema, null, 2);
        details.append(label, pre);
        block.append(details);
      }
      out.append(block);
    }
  }
}

showDocs().catch((error) => {
  document.getElementById("paths").textContent = `Could not load /openapi.json: ${error.message}`;
});
