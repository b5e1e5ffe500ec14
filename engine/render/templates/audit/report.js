(function () {
  var box = document.getElementById('rule-filter');
  if (box) {
    box.addEventListener('input', function () {
      var q = box.value.trim().toLowerCase();
      document.querySelectorAll('article.rule').forEach(function (a) {
        a.style.display = !q || a.getAttribute('data-search').indexOf(q) >= 0 ? '' : 'none';
      });
    });
  }
  var svg = document.querySelector('svg.depgraph');
  if (!svg) { return; }
  function clear() {
    svg.classList.remove('focus');
    svg.querySelectorAll('.hot').forEach(function (el) { el.classList.remove('hot'); });
  }
  svg.querySelectorAll('.node[data-key]').forEach(function (node) {
    node.addEventListener('mouseenter', function () {
      var key = node.getAttribute('data-key');
      clear();
      svg.classList.add('focus');
      node.classList.add('hot');
      svg.querySelectorAll('.edge').forEach(function (edge) {
        var from = edge.getAttribute('data-from'), to = edge.getAttribute('data-to');
        if (from === key || to === key) {
          edge.classList.add('hot');
          var other = svg.querySelector('.node[data-key="' + (from === key ? to : from) + '"]');
          if (other) { other.classList.add('hot'); }
        }
      });
    });
    node.addEventListener('mouseleave', clear);
  });
})();
