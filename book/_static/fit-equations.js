// Shrink a display equation that is wider than the text column (a phone screen) until it fits,
// down to MIN_SCALE of its size; an equation still too wide at that size is left to scroll.
(function () {
  const MIN_SCALE = 0.6;

  function fit(container) {
    container.style.fontSize = "";
    const room = container.clientWidth;
    const needed = container.scrollWidth;
    if (room > 0 && needed > room) {
      const scale = Math.max(MIN_SCALE, Math.floor((room / needed) * 100) / 100);
      container.style.fontSize = `${Math.round(scale * 100)}%`;
    }
  }

  function fitAll() {
    document.querySelectorAll('mjx-container[display="true"]').forEach(fit);
  }

  let started = false;
  function start() {
    if (started || !(window.MathJax && MathJax.startup && MathJax.startup.promise)) return;
    started = true;
    MathJax.startup.promise.then(fitAll);
    let pending = null;
    window.addEventListener("resize", () => {
      clearTimeout(pending);
      pending = setTimeout(fitAll, 100);
    });
  }

  // MathJax is loaded with `defer`; whichever comes first once it exists starts the fitting.
  document.addEventListener("DOMContentLoaded", start);
  window.addEventListener("load", start);
  start();
})();
