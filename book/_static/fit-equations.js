// Shrink a display equation that is wider than the text column (a phone screen) until it fits,
// down to MIN_PERCENT of the page's font size; an equation still too wide then is left to scroll.
(function () {
  const MIN_PERCENT = 60;

  // MathJax gives every formula a font size of its own (e.g. 127.3%, to match the text's
  // x-height); an equation is shrunk from that size, never from the page's, so that display
  // maths stays as large as inline maths wherever it fits.
  function fit(container) {
    if (container.dataset.mathjaxSize === undefined) {
      container.dataset.mathjaxSize = container.style.fontSize || "100%";
    }
    const base = parseFloat(container.dataset.mathjaxSize);
    container.style.fontSize = container.dataset.mathjaxSize;
    delete container.dataset.fitScale;
    const room = container.clientWidth;
    const needed = container.scrollWidth;
    if (room > 0 && needed > room) {
      const floor = Math.min(1, MIN_PERCENT / base);
      const scale = Math.max(floor, Math.floor((room / needed) * 100) / 100);
      container.style.fontSize = `${(base * scale).toFixed(1)}%`;
      container.dataset.fitScale = String(scale);  // the browser check allows a shrunk equation
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
