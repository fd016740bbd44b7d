// The live floor: tiles follow the api's Server-Sent Events, no reload.
"use strict";

(() => {
  const floor = document.getElementById("floor");
  const live = document.getElementById("live");
  const template = document.getElementById("tile-template");
  const words = JSON.parse(document.getElementById("words").textContent);
  const timeFormat = new Intl.DateTimeFormat(words.lang, { hour: "2-digit", minute: "2-digit", timeZone: words.zone });
  const numberFormat = new Intl.NumberFormat(words.lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const sparks = new Map();
  const SPARK_POINTS = 60;

  function tileOf(machine) {
    let tile = floor.querySelector(`[data-machine="${CSS.escape(machine)}"]`);
    if (!tile) {
      tile = template.content.firstElementChild.cloneNode(true);
      tile.dataset.machine = machine;
      const others = [...floor.children].filter((t) => t.dataset.machine > machine);
      floor.insertBefore(tile, others[0] || null);
    }
    return tile;
  }

  function field(tile, name) { return tile.querySelector(`[data-field="${name}"]`); }

  function drawSpark(tile, points) {
    const top = Math.max(...points, 0.001);
    const step = 100 / Math.max(points.length - 1, 1);
    field(tile, "spark").setAttribute("points",
      points.map((a, i) => `${(i * step).toFixed(1)},${(23 - (22 * a) / top).toFixed(1)}`).join(" "));
  }

  // Staff see a tile marked when its machine draws current with nobody badged in.
  function markUnattributed(tile, amps) {
    const marker = field(tile, "unattributed");
    const idle = Number.parseFloat(marker.dataset.idleAmps);
    marker.hidden = !(tile.dataset.state === "locked" && amps !== null && amps >= idle);
  }

  // Out of order (why, in the page's words) or a task due, as the ledger says.
  function reasonWords(reason) {
    if (reason in words.reasons) return words.reasons[reason];
    const due = "service due: ";
    return reason.startsWith(due) ? `${words.reasons["service due"]}: ${reason.slice(due.length)}` : reason;
  }

  function showService(tile, m) {
    const out = m.out_of_order || null;
    tile.classList.toggle("is-out-of-order", out !== null);
    field(tile, "out_of_order").hidden = out === null;
    field(tile, "reason").textContent = out === null ? "" : reasonWords(out);
    field(tile, "service_due").hidden = out !== null || !m.tasks_due;
    field(tile, "service_due").querySelector("a").href = `/machines/${encodeURIComponent(m.machine)}/maintenance`;
  }

  function showTile(m) {
    const tile = tileOf(m.machine);
    tile.className = `tile state-${m.state}`;
    tile.dataset.state = m.state;
    const link = tile.querySelector("h2 a");
    link.textContent = m.name;
    link.href = `/machines/${encodeURIComponent(m.machine)}/day`;
    field(tile, "state").textContent = words.states[m.state] || m.state;
    field(tile, "member").textContent = m.member_name || m.member || "";
    const since = field(tile, "since");
    since.textContent = m.since ? `${words.since} ${timeFormat.format(new Date(m.since))}` : "";
    since.dataset.since = m.since || "";
    field(tile, "amps").textContent = m.amps === null ? "–" : numberFormat.format(m.amps);
    field(tile, "gateway").hidden = m.gateway_online !== false;
    showService(tile, m);
    markUnattributed(tile, m.amps);
    if (m.sparkline && m.sparkline.length) {
      sparks.set(m.machine, m.sparkline.slice(-SPARK_POINTS));
      drawSpark(tile, sparks.get(m.machine));
    }
  }

  function showAmps(amps) {
    for (const [machine, value] of Object.entries(amps)) {
      const tile = tileOf(machine);
      field(tile, "amps").textContent = numberFormat.format(value);
      const points = sparks.get(machine) || [];
      points.push(value);
      if (points.length > SPARK_POINTS) points.shift();
      sparks.set(machine, points);
      drawSpark(tile, points);
      markUnattributed(tile, value);
    }
  }

  // Staff: a card refused anywhere on the floor goes on top of the recent events.
  const dateTimeFormat = new Intl.DateTimeFormat(words.lang, { dateStyle: "short", timeStyle: "short", timeZone: words.zone });
  function showRefused(r) {
    const rows = document.querySelector("[data-refused-rows]");
    if (!rows) return;
    const row = document.createElement("tr");
    row.dataset.denied = "";
    const cells = [dateTimeFormat.format(new Date(r.at)), null, null, words.refused[r.reason] || r.reason];
    for (const text of cells) row.appendChild(document.createElement("td")).textContent = text || "";
    const link = row.children[1].appendChild(document.createElement("a"));
    link.href = `/machines/${encodeURIComponent(r.machine)}/day`;
    link.textContent = r.name;
    const card = row.children[2].appendChild(document.createElement("code"));
    card.title = words.card_note;
    card.textContent = r.card;
    rows.prepend(row);
    document.querySelector("[data-refused-table]").hidden = false;
    document.querySelector("[data-no-events]")?.remove();
  }

  const source = new EventSource("/api/v1/floor/events");
  source.addEventListener("refused", (event) => showRefused(JSON.parse(event.data)));
  source.addEventListener("snapshot", (event) => {
    JSON.parse(event.data).machines.forEach(showTile);
    live.textContent = live.dataset.live;
    live.classList.add("on");
  });
  source.addEventListener("tiles", (event) => JSON.parse(event.data).forEach(showTile));
  source.addEventListener("amps", (event) => showAmps(JSON.parse(event.data)));
  source.addEventListener("error", () => {
    live.textContent = live.dataset.reconnecting;
    live.classList.remove("on");
  });
})();
