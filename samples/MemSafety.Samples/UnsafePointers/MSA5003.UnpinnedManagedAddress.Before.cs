using System.Runtime.CompilerServices;

namespace MemSafety.Samples.UnsafePointers;

public static unsafe class UnpinnedManagedAddressBefore
{
    // MSA5003: nothing pins the array, so a collection during the loop can move it and leave the pointer behind.
    public static void Clear(int[] values)
    {
        int* p = (int*)Unsafe.AsPointer(ref values[0]);
        for (int i = 0; i < values.Length; i++)
            p[i] = 0;
    }
}
