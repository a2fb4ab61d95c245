"""Draws one wedged shape as an SVG file: render_shape.py SHAPE SCALE OUTPUT."""

import os
import sys

shape, scale, output = sys.argv[1], float(sys.argv[2]), sys.argv[3]
size = 40 * scale
if shape == "circle":
    body = f'<circle cx="60" cy="60" r="{size / 2:.1f}" fill="steelblue"/>'
elif shape == "square":
    body = (f'<rect x="{60 - size / 2:.1f}" y="{60 - size / 2:.1f}" width="{size:.1f}" '
            f'height="{size:.1f}" fill="darkorange"/>')
else:
    h = size * 0.866
    body = (f'<polygon points="60,{60 - h / 2:.1f} {60 - size / 2:.1f},{60 + h / 2:.1f} '
            f'{60 + size / 2:.1f},{60 + h / 2:.1f}" fill="seagreen"/>')
os.makedirs(os.path.dirname(output), exist_ok=True)
with open(output, "w") as handle:
    handle.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120">{body}</svg>\n')
print(f"drew a {shape} at scale {scale} into {output}")
