// officina pages: log in and out, and send forms to the api as JSON (no framework).
"use strict";

const csrf = () => document.querySelector('meta[name="csrf"]')?.content || "";

async function callApi(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const problem = await response.json();
      detail = Array.isArray(problem.detail)
        ? problem.detail.map((p) => `${(p.loc || []).slice(-1)[0]}: ${p.msg}`).join("; ")
        : problem.detail;
    } catch (_) { /* not JSON: keep the status text */ }
    throw new Error(detail);
  }
  return response.status === 204 ? null : response.json();
}

function formBody(form) {
  const body = {};
  for (const field of form.elements) {
    if (!field.name) continue;
    // A checkbox without a value of its own is a yes or no.
    if (field.type === "checkbox" && field.value === "on") { body[field.name] = field.checked; continue; }
    if (field.value === "") continue;
    if (field.dataset.kind === "number") { body[field.name] = Number(field.value); continue; }
    // A date picked as "valid until" means the end of that local day.
    body[field.name] = field.dataset.kind === "end-of-day"
      ? new Date(`${field.value}T23:59:59`).toISOString()
      : field.value;
  }
  return body;
}

function showError(place, message) {
  if (!place) { alert(message); return; }
  place.textContent = message;
  place.hidden = false;
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.id === "login") {
    event.preventDefault();
    const error = form.querySelector(".error");
    const response = await fetch("/api/v1/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(formBody(form)),
    });
    if (response.ok) { window.location.assign(form.dataset.next || "/"); return; }
    showError(error, response.status === 429 ? error.dataset.tooMany : error.dataset.failed);
    return;
  }
  if (!form.dataset.api) return;
  event.preventDefault();
  const error = form.querySelector(".error");
  if (form.dataset.wait) showError(error, form.dataset.wait);
  try {
    await callApi(form.dataset.method || "POST", form.dataset.api, formBody(form));
    window.location.reload();
  } catch (failure) {
    showError(error, failure.message);
  }
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.hasAttribute("data-logout")) {
    await callApi("POST", "/api/v1/logout").catch(() => null);
    window.location.assign("/login");
  } else if (button.dataset.api && !button.form) {
    try {
      await callApi(button.dataset.method || "POST", button.dataset.api);
      window.location.reload();
    } catch (failure) {
      showError(null, failure.message);
    }
  }
});

// The day's timeline: bars placed from data attributes, as the page has no inline styles (CSP).
function placeBars() {
  for (const bar of document.querySelectorAll("[data-left]")) {
    bar.style.left = `${Number(bar.dataset.left)}%`;
    if (bar.dataset.width) bar.style.width = `${Number(bar.dataset.width)}%`;
  }
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", placeBars);
} else {
  placeBars();
}
