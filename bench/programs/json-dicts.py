# A Python program with a heap that grows, churns and shrinks: dictionaries of float lists, JSON text, a sort.
# Run with PYTHONMALLOC=malloc, every object is a malloc call: about 3 million of them.
import json
import random

random.seed(1)
table = {}
out = []
for i in range(60000):
    key = "key%d" % i
    table[key] = [random.random() for _ in range(random.randint(1, 8))]
    if i % 3 == 0:
        out.append(json.dumps({key: table[key]}))
    if i % 7 == 0 and i > 100:
        del table["key%d" % (i - 50)]
ranked = sorted(table.items(), key=lambda kv: len(kv[1]))
words = "\n".join(out).split(",")
print(len(words), len(ranked))
