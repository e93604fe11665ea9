"""What analysts read: totals along the unit tree, completeness, sources, exports, charts.

- ``aggregate``: the facts of a campaign (units, latest submissions, readings) in a
  user's scope, and completeness;
- ``figures``: totals as figures, the one shape both the API and the pages show;
- ``sources``: what is behind one figure;
- ``export``: the sole pandas importer: totals frames, CSV, the official XLSX, charts.
"""
