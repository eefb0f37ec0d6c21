"""``python -m kernel_arena.cli``: the same as the ``kernel-arena`` command."""

from kernel_arena.cli import main

main()
