"""Networks of the lecture (LeNet-5, the 1998 LeNet-5, an MLP, a configurable CNN) and their specs.

`specs` is torch-free (config validation reads it before torch loads); every other module here is a
network or its layers. A config in conf/model/ builds a network with `hydra.utils.instantiate`.
"""
