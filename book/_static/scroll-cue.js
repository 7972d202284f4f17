// A box that scrolls sideways (a wide table; a figure on a phone) fades out at the edge where
// there is more to see, so that a reader knows to swipe. book.css draws the fades; this script
// only says which edges have more: the classes book-more-right and book-more-left.
(function () {
  function watch(box) {
    const update = () => {
      const hidden = box.scrollWidth - box.clientWidth;
      box.classList.toggle("book-more-right", hidden > 1 && box.scrollLeft < hidden - 1);
      box.classList.toggle("book-more-left", hidden > 1 && box.scrollLeft > 1);
    };
    box.addEventListener("scroll", update, { passive: true });
    const resized = new ResizeObserver(update);
    resized.observe(box);
    [...box.children].forEach((child) => resized.observe(child));
    box.querySelectorAll("img").forEach((img) => img.addEventListener("load", update));
    update();
  }

  function start() {
    document.querySelectorAll("article .table-wrapper, article div.cell_output").forEach(watch);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
