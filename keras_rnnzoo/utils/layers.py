"""Find every layer (cells included) inside a model, with public attributes only."""

import keras


def iter_layers(root):
    """Yield ``root`` and every ``keras.layers.Layer`` reachable from it.

    Follows attributes holding layers or lists/tuples/dicts of layers, which
    covers ``Model.layers``, ``RNN.cell``, ``StackedRNNCells.cells`` and
    ``Bidirectional``'s two layers.
    """
    seen = set()
    stack = [root]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        children = list(getattr(layer, "layers", None) or [])
        for value in vars(layer).values():
            if isinstance(value, keras.layers.Layer):
                children.append(value)
            elif isinstance(value, (list, tuple)):
                children.extend(v for v in value if isinstance(v, keras.layers.Layer))
            elif isinstance(value, dict):
                children.extend(
                    v for v in value.values() if isinstance(v, keras.layers.Layer)
                )
        stack.extend(children)
