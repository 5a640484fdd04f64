// medmd serve: slice viewer and labelling shortcuts. No framework, no
// build step; the pages work without it (the first slice and the label
// buttons are plain HTML).
"use strict";

function setupViewer(fig) {
  const img = fig.querySelector("img.slice");
  const axis = fig.querySelector("select.axis");
  const slider = fig.querySelector("input.slider");
  const win = fig.querySelector("select.window");
  const out = fig.querySelector("output.slice-no");
  if (!img || !axis || !slider || !win) return;
  const dims = { z: +fig.dataset.d, y: +fig.dataset.h, x: +fig.dataset.w };
  const base = fig.dataset.base;
  function resetSlider() {
    const n = dims[axis.value];
    slider.max = String(n - 1);
    slider.value = String(Math.floor(n / 2));
  }
  function show() {
    const u = new URL(base, location.href);
    u.searchParams.set("axis", axis.value);
    u.searchParams.set("slice", slider.value);
    u.searchParams.set("window", win.value);
    img.src = u.pathname + u.search;
    if (out) out.textContent = slider.value + " / " + (dims[axis.value] - 1);
  }
  axis.addEventListener("change", () => { resetSlider(); show(); });
  slider.addEventListener("input", show);
  win.addEventListener("change", show);
  resetSlider();
  if (out) out.textContent = slider.value + " / " + (dims[axis.value] - 1);
}

function setupLabels() {
  const form = document.getElementById("label-form");
  if (!form) return;
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
    const id = { k: "label-keep", d: "label-drop", u: "label-unsure" }[e.key];
    if (id) document.getElementById(id).click();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("figure.viewer").forEach(setupViewer);
  setupLabels();
});
