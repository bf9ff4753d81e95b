"""madmom's downbeat network ensemble, its networks run side by side.

madmom's ``NeuralNetworkEnsemble`` runs each of its 8 downbeat networks (3 bidirectional LSTM layers of
25 cells with peephole connections, then a softmax layer) on its own, and each LSTM steps through the
song one frame at a time in Python: 8 networks x 3 layers x 2 directions x 100 frames/s, about 20 CPU
seconds for a 3.5-minute song on this project's machines, half of ``describe``. Here the 48 recurrences
of a layer that do not depend on each other (every network, both directions) advance together: each
time step is one batched product and a few element-wise operations over all of them, and the input
weights are applied to the whole sequence at once. The arithmetic is madmom's (its weights, gates,
peepholes and float32), so the activations agree with madmom's to float32 rounding (tested).

Written here because neither madmom nor a maintained library runs a peephole LSTM batched over
networks: ``torch.nn.LSTM`` has no peephole connections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit as _sigmoid  # madmom's sigmoid

_DTYPE = np.float32


@dataclass(frozen=True)
class _Layer:
    """One bidirectional peephole-LSTM layer of every network, stacked over ``B = 2 x networks``
    recurrences (network ``n``'s forward direction is row ``2n``, its backward one ``2n + 1``).

    ``inputs`` (B, F, 4H): input weights of the gates (input, forget, cell, output);
    ``bias`` (B, 4H); ``recurrent`` (B, H, 4H); ``peep`` (3, B, H): peepholes of the input, forget
    and output gates."""

    inputs: np.ndarray
    bias: np.ndarray
    recurrent: np.ndarray
    peep: np.ndarray

    @property
    def hidden(self) -> int:
        return int(self.recurrent.shape[1])


class BatchedEnsemble:
    """Callable like madmom's ``NeuralNetworkEnsemble`` of the downbeat networks: ``(T, F)`` features ->
    ``(T, 3)`` mean of the networks' softmax outputs (no beat, beat, downbeat)."""

    def __init__(self, networks: list) -> None:
        if not networks:
            raise ValueError("no networks")
        depth = len(networks[0].layers) - 1
        self.layers: list[_Layer] = []
        for k in range(depth):
            dirs = [d for net in networks for d in (net.layers[k].fwd_layer, net.layers[k].bwd_layer)]
            gates = [(d.input_gate, d.forget_gate, d.cell, d.output_gate) for d in dirs]
            for d in dirs:
                if d.cell.peephole_weights is not None or np.any(d.init) or np.any(d.cell_init):
                    raise ValueError("unsupported LSTM layer (cell peepholes or a non-zero initial state)")
            self.layers.append(_Layer(
                inputs=np.stack([np.concatenate([g.weights for g in gs], axis=1) for gs in gates]).astype(_DTYPE),
                bias=np.stack([np.concatenate([np.broadcast_to(g.bias, (g.weights.shape[1],)) for g in gs]) for gs in gates]).astype(_DTYPE),
                recurrent=np.stack([np.concatenate([g.recurrent_weights for g in gs], axis=1) for gs in gates]).astype(_DTYPE),
                peep=np.stack([np.stack([gs[i].peephole_weights for gs in gates]) for i in (0, 1, 3)]).astype(_DTYPE),
            ))
        self.out_weights = np.stack([net.layers[-1].weights for net in networks]).astype(_DTYPE)  # (N, 2H, C)
        self.out_bias = np.stack([np.broadcast_to(net.layers[-1].bias, (net.layers[-1].weights.shape[1],))
                                  for net in networks]).astype(_DTYPE)  # (N, C)
        self.n_networks = len(networks)

    def __call__(self, data: np.ndarray, **kwargs) -> np.ndarray:
        x = np.asarray(data, dtype=_DTYPE)  # (T, F): the same input for every network
        t = x.shape[0]
        per_net = None  # (N, T, 2H): each network's output of the previous layer
        for layer in self.layers:
            if per_net is None:
                z = np.einsum("tf,bfg->btg", x, layer.inputs, optimize=True)  # (B, T, 4H)
            else:
                z = np.einsum("ntf,nbfg->nbtg", per_net, layer.inputs.reshape(self.n_networks, 2, *layer.inputs.shape[1:]),
                              optimize=True).reshape(-1, t, layer.inputs.shape[2])
            z += layer.bias[:, None, :]
            z[1::2] = z[1::2, ::-1]  # backward directions run on the reversed sequence
            out = self._recur(np.ascontiguousarray(z.transpose(1, 0, 2)), layer)  # (T, B, H)
            out[:, 1::2] = out[::-1, 1::2]  # back in time order
            per_net = out.reshape(t, self.n_networks, 2 * layer.hidden).transpose(1, 0, 2)  # (N, T, 2H): fwd | bwd
        logits = np.einsum("ntf,nfc->ntc", per_net, self.out_weights, optimize=True) + self.out_bias[:, None, :]
        logits -= logits.max(axis=2, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=2, keepdims=True)
        return logits.mean(axis=0)

    @staticmethod
    def _recur(z: np.ndarray, layer: _Layer) -> np.ndarray:
        """The recurrences of one layer over ``z`` (T, B, 4H) (input projections, bias added) -> (T, B, H)."""
        steps, b, four_h = z.shape
        h = four_h // 4
        out = np.empty((steps, b, h), dtype=_DTYPE)
        prev = np.zeros((b, 1, h), dtype=_DTYPE)
        state = np.zeros((b, h), dtype=_DTYPE)
        p_in, p_forget, p_out = layer.peep
        rec = layer.recurrent
        for i in range(steps):
            pre = z[i] + np.matmul(prev, rec)[:, 0, :]  # (B, 4H)
            gi = _sigmoid(pre[:, :h] + state * p_in)
            gf = _sigmoid(pre[:, h : 2 * h] + state * p_forget)
            state = np.tanh(pre[:, 2 * h : 3 * h]) * gi + state * gf
            go = _sigmoid(pre[:, 3 * h :] + state * p_out)
            cur = np.tanh(state) * go
            out[i] = cur
            prev = cur[:, None, :]
        return out


__all__ = ["BatchedEnsemble"]
