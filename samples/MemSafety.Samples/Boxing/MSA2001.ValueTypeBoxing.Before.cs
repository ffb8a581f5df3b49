using System;
using System.Collections.Generic;

namespace MemSafety.Samples.Boxing.Before.ValueTypeBoxing;

public interface IShape
{
    int Area();
}

public struct Square : IShape
{
    public int Side;

    public int Area() => Side * Side;
}

public static class Geometry
{
    // MSA2001 (fix: make Measure generic over IShape): each call boxes the square.
    private static int Measure(IShape shape) => shape.Area();

    public static int TotalArea(Square[] squares)
    {
        var total = 0;
        foreach (var square in squares)
            total += Measure(square);
        return total;
    }

    // MSA2001 (no fix: the collection's element type is an API decision): each Add boxes an int.
    public static List<object> Sides(Square[] squares)
    {
        var sides = new List<object>(squares.Length);
        foreach (var square in squares)
            sides.Add(square.Side);
        return sides;
    }

    // MSA2001 (one diagnostic for the call): the object[2] and both boxes are built on every iteration,
    // although Ensure only reads them when a square is degenerate.
    public static void Validate(Square[] squares)
    {
        for (var i = 0; i < squares.Length; i++)
            Check.Ensure(squares[i].Side > 0, "square {0} has side {1}", i, squares[i].Side);
    }
}

public static class Check
{
    public static void Ensure(bool condition, string format, params object[] args)
    {
        if (!condition)
            throw new ArgumentException(string.Format(format, args));
    }
}
