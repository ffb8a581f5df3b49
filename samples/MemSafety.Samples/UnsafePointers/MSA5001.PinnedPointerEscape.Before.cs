namespace MemSafety.Samples.UnsafePointers;

public static unsafe class PinnedPointerEscapeBefore
{
    // MSA5001: the array is pinned only inside the block; the reads after it go through a stale pointer once a
    // compacting collection has moved the array.
    public static int SumOfFirstTwo(int[] values)
    {
        int* cursor;
        fixed (int* p = values)
        {
            cursor = p;
        }

        return cursor[0] + cursor[1];
    }
}
