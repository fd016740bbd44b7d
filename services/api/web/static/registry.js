// Registry pages: machines saved by id, a gateway's gateway.toml issued, prices in the page's language.
"use strict";

// "1.234,50" in Italian, "1,234.50" in English: the api takes "1234.50".
function plainDecimal(text) {
  const italian = document.documentElement.lang === "it";
  const [group, decimal] = italian ? [".", ","] : [",", "."];
  return text.trim().split(group).join("").replace(decimal, ".");
}

// Decimal text in the page's language as integer cents, without a float in between.
function centsOf(text) {
  const plain = plainDecimal(text);
  if (!/^\d{1,10}(\.\d{1,2})?$/.test(plain)) return null;
  const [units, fraction = ""] = plain.split(".");
  return Number(units) * 100 + Number(fraction.padEnd(2, "0"));
}

async function savePlan(form) {
  const fee = form.querySelector('[name="monthly_fee"]');
  const cents = centsOf(fee.value);
  if (cents === null) throw new Error(`${fee.closest("label").textContent.trim()}: ${fee.value}`);
  const name = form.querySelector('[name="name"]').value;
  const vat = plainDecimal(form.querySelector('[name="vat"]').value || "0");
  await callApi("PUT", `/api/v1/plans/${encodeURIComponent(name)}`, { monthly_fee_cents: cents, vat });
}

async function saveMachine(form) {
  const body = formBody(form);
  for (const field of form.querySelectorAll("[data-minutes]")) {
    if (field.value !== "") body[field.name] = Number(field.value) * 60;
  }
  const machine = form.dataset.machine || body.id || "";
  delete body.id;
  await callApi("PUT", `/api/v1/machines/${encodeURIComponent(machine)}`, body);
}

async function addTariff(form) {
  const body = formBody(form);
  for (const field of form.querySelectorAll('[data-kind="decimal"]')) {
    if (field.value !== "") body[field.name] = plainDecimal(field.value);
  }
  await callApi("POST", "/api/v1/tariffs", body);
}

async function issueGatewayConfig(form) {
  const machines = [...form.querySelectorAll("[data-wiring]")].map((row) => {
    const wiring = { machine: row.dataset.wiring };
    for (const field of row.querySelectorAll("input, select")) {
      wiring[field.name] = field.type === "number" ? Number(field.value) : field.value;
    }
    return wiring;
  });
  const spool = form.querySelector('[name="spool_path"]').value;
  const response = await fetch(
    `/api/v1/gateways/${encodeURIComponent(form.dataset.gatewayConfig)}/config`,
    {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ spool_path: spool, machines }),
    },
  );
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const problem = await response.json();
      detail = Array.isArray(problem.detail)
        ? problem.detail.map((p) => `${(p.loc || []).slice(1).join(".")}: ${p.msg}`).join("; ")
        : problem.detail;
    } catch (_) { /* not JSON: keep the status text */ }
    throw new Error(detail);
  }
  const text = await response.text();
  const issued = form.querySelector(".issued");
  issued.querySelector("[data-toml]").textContent = text;
  issued.querySelector("[data-download]").href = URL.createObjectURL(
    new Blob([text], { type: "application/toml" }),
  );
  issued.hidden = false;
}

async function uploadPhoto(form) {
  const file = form.querySelector('[name="photo"]').files[0];
  if (file.size > Number(form.dataset.maxBytes)) throw new Error(form.dataset.tooLarge);
  const response = await fetch(`/api/v1/machines/${encodeURIComponent(form.dataset.photoForm)}/photo`, {
    method: "PUT",
    credentials: "same-origin",
    headers: { "Content-Type": file.type || "application/octet-stream", "X-CSRF-Token": csrf() },
    body: file,
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({ detail: response.statusText }));
    throw new Error(Array.isArray(problem.detail)
      ? problem.detail.map((p) => `${(p.loc || []).slice(-1)[0]}: ${p.msg}`).join("; ")
      : problem.detail);
  }
}

const REGISTRY_FORMS = [
  ["photoForm", uploadPhoto, true],
  ["machineForm", saveMachine, true],
  ["tariffForm", addTariff, true],
  ["planForm", savePlan, true],
  ["gatewayConfig", issueGatewayConfig, false],
];

document.addEventListener("submit", async (event) => {
  const form = event.target;
  const found = REGISTRY_FORMS.find(([key]) => key in form.dataset);
  if (!found) return;
  event.preventDefault();
  const [, send, reload] = found;
  const error = form.querySelector(".error");
  error.hidden = true;
  try {
    await send(form);
    if (reload) window.location.reload();
  } catch (failure) {
    showError(error, failure.message);
  }
});
