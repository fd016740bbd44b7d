// Billing-party forms: sent to the api as JSON; a refusal is shown next to the field it names.
"use strict";

function partyBody(form) {
  const body = {};
  const patch = form.dataset.method === "PATCH";
  for (const field of form.elements) {
    if (!field.name) continue;
    if (field.type === "checkbox") { body[field.name] = field.checked; continue; }
    // An emptied field clears it when a party is changed; a new party just leaves it out.
    if (field.value === "") { if (patch && field.name !== "label") body[field.name] = null; continue; }
    body[field.name] = field.value;
  }
  return body;
}

function showProblems(form, problems) {
  const general = form.querySelector(".error");
  for (const problem of problems) {
    const name = (problem.loc || []).slice(-1)[0];
    const input = typeof name === "string" ? form.elements.namedItem(name) : null;
    // A refusal the ledger makes already starts with the field's name; pydantic's does not.
    const named = !name || String(problem.msg).startsWith(`${name}:`);
    const text = named ? problem.msg : `${name}: ${problem.msg}`;
    if (input && input.closest && input.closest("label")) {
      const note = document.createElement("span");
      note.className = "error field-error";
      note.dataset.field = name;
      note.textContent = text;
      input.setAttribute("aria-invalid", "true");
      input.closest("label").after(note);
    } else if (general) {
      general.textContent = text;
      general.hidden = false;
    }
  }
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.dataset.partyApi) return;
  event.preventDefault();
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  for (const marked of form.querySelectorAll("[aria-invalid]")) marked.removeAttribute("aria-invalid");
  const response = await fetch(form.dataset.partyApi, {
    method: form.dataset.method || "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify(partyBody(form)),
  });
  if (response.ok) { window.location.reload(); return; }
  let problems = [{ loc: [], msg: response.statusText }];
  try {
    const answer = await response.json();
    problems = Array.isArray(answer.detail) ? answer.detail : [{ loc: [], msg: answer.detail }];
  } catch (_) { /* not JSON: keep the status text */ }
  showProblems(form, problems);
});
