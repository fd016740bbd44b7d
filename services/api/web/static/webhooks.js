// The webhook form: the event types as a list, and the new secret shown once instead of a reload.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("webhook-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".error");
    error.hidden = true;
    const events = [...form.querySelectorAll('input[name="events"]:checked')].map((box) => box.value);
    try {
      const made = await callApi("POST", "/api/v1/webhooks", { url: form.elements.url.value, events });
      document.getElementById("webhook-secret").textContent = made.secret;
      form.querySelector(".secret").hidden = false;
      form.querySelector('button[type="submit"]').disabled = true;
    } catch (failure) {
      showError(error, failure.message);
    }
  });
});
