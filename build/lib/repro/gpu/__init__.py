"""Running the harness on a GPU machine that has torch but no network (the lent H200's image): what to carry.

`repro.gpu.pack` builds the wheels such a machine lacks, at the versions tested here; `repro.gpu.image` lists
what the image already holds, so a test can say when a new import is covered by neither.
"""
