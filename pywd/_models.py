"""Parameter shapes of real models, for benchmarks that look like a training step."""


def resnet50_shapes(num_classes=1000):
    """The 161 parameter shapes of torchvision's ResNet-50, in its parameter order
    (25,557,032 parameters): conv weights (out, in, kh, kw), batch-norm weights and biases."""
    shapes = [(64, 3, 7, 7), (64,), (64,)]
    inplanes = 64
    for planes, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        for block in range(blocks):
            shapes += [(planes, inplanes, 1, 1), (planes,), (planes,),
                       (planes, planes, 3, 3), (planes,), (planes,),
                       (planes * 4, planes, 1, 1), (planes * 4,), (planes * 4,)]
            if block == 0:   # the projection shortcut of each stage's first block
                shapes += [(planes * 4, inplanes, 1, 1), (planes * 4,), (planes * 4,)]
            inplanes = planes * 4
    return shapes + [(num_classes, 2048), (num_classes,)]
