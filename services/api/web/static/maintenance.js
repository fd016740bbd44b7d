// Maintenance page: a fault is reported as JSON, then its photo (if one was chosen) as the image's bytes.
"use strict";

async function reportFault(form) {
  const machine = encodeURIComponent(form.dataset.faultForm);
  const file = form.querySelector('[name="photo"]').files[0];
  if (file && file.size > Number(form.dataset.maxBytes)) throw new Error(form.dataset.tooLarge);
  const text = form.querySelector('[name="text"]').value;
  const fault = await callApi("POST", `/api/v1/machines/${machine}/faults`, { text });
  if (!file) return;
  const response = await fetch(`/api/v1/machines/${machine}/faults/${fault.id}/photo`, {
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

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!("faultForm" in form.dataset)) return;
  event.preventDefault();
  const error = form.querySelector(".error");
  error.hidden = true;
  try {
    await reportFault(form);
    window.location.reload();
  } catch (failure) {
    showError(error, failure.message);
  }
});
