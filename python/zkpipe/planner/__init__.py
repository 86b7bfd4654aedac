"""The planner: the analytic KPI model, a pipeline simulator and a capacity planner.

Modules, each with an explicit ``__all__``: ``kpi`` (the KpiReport every part speaks),
``model`` (the formulas), ``measurements`` (cost tables and the default assumption),
``sim`` (the discrete-event simulation), ``plan`` (the capacity planner), ``calibrate``
(re-predicting recorded runs), ``plots``. Nothing is re-exported here, so that importing
the CLI does not pull in numpy, SimPy and matplotlib.
"""
