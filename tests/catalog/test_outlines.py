"""Convex hulls for the offline base map's district outlines."""

import random

from xueliang.catalog.outlines import convex_hull, outline_features, trim_outliers


def test_hull_of_a_square_with_inner_points():
    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    inner = [(0.5, 0.5), (0.2, 0.8), (0.5, 0.0)]  # (0.5, 0) lies on an edge: not a corner
    assert convex_hull(square + inner + square) == [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


def test_degenerate_inputs_have_no_area():
    assert convex_hull([]) == []
    assert convex_hull([(1.0, 1.0), (1.0, 1.0)]) == [(1.0, 1.0)]
    assert len(convex_hull([(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)])) == 2


def test_every_point_is_inside_the_hull():
    rng = random.Random(3)
    points = [(rng.gauss(118, 0.05), rng.gauss(31, 0.04)) for _ in range(2000)]
    hull = convex_hull(points)
    for i, a in enumerate(hull):  # counter-clockwise: every point is left of every edge
        b = hull[(i + 1) % len(hull)]
        for p in points:
            assert (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= -1e-12


def test_a_mistyped_far_point_does_not_stretch_the_outline():
    rng = random.Random(5)
    points = [(rng.uniform(118, 118.1), rng.uniform(31, 31.1)) for _ in range(300)] + [(119.5, 32.0)]
    assert (119.5, 32.0) not in trim_outliers(points)
    assert len(trim_outliers(points[:50] + [(119.5, 32.0)])) == 51  # too few to judge


def test_features_skip_regions_without_area():
    features = outline_features(
        {"340202": [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)], "340207": [(0.0, 0.0), (1.0, 1.0)]},
        {"340202": "镜湖区"},
    )
    assert [f["properties"] for f in features] == [{"civil_code": "340202", "name": "镜湖区", "channels": 3}]
    assert features[0]["geometry"]["coordinates"][0][0] == features[0]["geometry"]["coordinates"][0][-1]
