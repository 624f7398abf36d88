"""A graph runner that calls the nodes a prediction needs one after the other.

Rasa 3.6 runs its prediction graph three times a message (the NLU pipeline, then the policies
for each action) through dask's synchronous scheduler: each run works out the targets'
sub-graph, builds a dask graph of it, orders it and schedules it task by task, 12% of a Rasa
worker's time here, half as much as the components themselves took. The prediction graph
never changes once loaded and always runs on one thread, so `SequentialGraphRunner` works out
the order of each set of targets once and then calls the same `GraphNode`s with the same inputs
and hooks, in an order dask's could also take: the same results, errors and exceptions.
"""
import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

logger = logging.getLogger(__name__)


class SequentialGraphRunner(DaskGraphRunner):
    """`DaskGraphRunner`'s nodes, run in a remembered topological order instead of by dask."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._orders: Dict[Tuple[Text, ...], Dict[Text, Tuple[Text, ...]]] = {}

    def _order(self, targets: Tuple[Text, ...]) -> Dict[Text, Tuple[Text, ...]]:
        """The nodes the targets need, each after the nodes it needs (inputs left out), with
        the names of what each needs."""
        if targets not in self._orders:
            order: Dict[Text, Tuple[Text, ...]] = {}

            def visit(name: Text) -> None:  # Rasa validated the graph has no cycle at training
                if name in order or name not in self._graph_schema.nodes:
                    return
                needs = tuple(self._graph_schema.nodes[name].needs.values())
                for needed in needs:
                    visit(needed)
                order[name] = needs

            for target in targets:
                visit(target)
            self._orders[targets] = order
        return self._orders[targets]

    def run(self, inputs: Optional[Dict[Text, Any]] = None,
            targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        order = self._order(run_targets)
        # Like dask's graph: a node's output and an input are each a (name, value) pair, and
        # a need nothing provides is passed as its bare name (GraphNode reports it).
        outputs: Dict[Text, Any] = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and value in order:
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure that none of "
                    f"the input names passed to the `run` method are the same as node names "
                    f"in the graph schema.")
            outputs[name] = (name, value)
        logger.debug("Running graph with inputs: %s, targets: %s and %s.", inputs, targets,
                     self._execution_context)
        try:
            for name, needs in order.items():
                outputs[name] = self._instantiated_nodes[name](
                    *(outputs.get(needed, needed) for needed in needs))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(outputs[target] for target in run_targets)
