namespace YoloCore.Nn.Yolo;

/// PyTorch's `scores.argsort(descending=True)` on the CPU, ties included. PyTorch sorts (value,
/// index) pairs with std::sort (libstdc++'s introsort: median-of-three quicksort to 16-element
/// runs, heapsort past a depth of 2·log2 n, then insertion sort), which is not stable: past 16
/// elements, equal scores come out in an order only that algorithm gives. YOLOv5's NMS takes the
/// first max_nms of that order and torchvision's NMS keeps it among equal scores, so which of two
/// tied boxes survives depends on it. Checked against PyTorch 1.13 on random arrays with ties.
public static class TorchArgsort
{
    const int Threshold = 16;

    public static int[] Descending(ReadOnlySpan<float> keys)
    {
        var a = new int[keys.Length];
        for (int i = 0; i < a.Length; i++) a[i] = i;
        if (a.Length == 0) return a;
        var k = keys.ToArray();
        var sorter = new Sorter(a, k);
        sorter.Loop(0, a.Length, 2 * (int)Math.Floor(Math.Log2(a.Length)));
        sorter.FinalInsertion(0, a.Length);
        return a;
    }

    /// The algorithm on an index array with "greater key first" as the comparison (NaN first, as
    /// PyTorch's KeyValueCompDesc).
    sealed class Sorter(int[] a, float[] key)
    {
        bool Before(int i, int j) => float.IsNaN(key[i]) && !float.IsNaN(key[j]) || key[i] > key[j];

        void Swap(int x, int y) => (a[x], a[y]) = (a[y], a[x]);

        public void Loop(int first, int last, int depth)
        {
            while (last - first > Threshold)
            {
                if (depth == 0) { HeapSort(first, last); return; }
                depth--;
                MedianToFirst(first, first + 1, first + (last - first) / 2, last - 1);
                int cut = Partition(first + 1, last, first);
                Loop(cut, last, depth);
                last = cut;
            }
        }

        void MedianToFirst(int result, int x, int y, int z)
        {
            if (Before(a[x], a[y]))
            {
                if (Before(a[y], a[z])) Swap(result, y);
                else if (Before(a[x], a[z])) Swap(result, z);
                else Swap(result, x);
            }
            else if (Before(a[x], a[z])) Swap(result, x);
            else if (Before(a[y], a[z])) Swap(result, z);
            else Swap(result, y);
        }

        int Partition(int first, int last, int pivot)
        {
            while (true)
            {
                while (Before(a[first], a[pivot])) first++;
                last--;
                while (Before(a[pivot], a[last])) last--;
                if (first >= last) return first;
                Swap(first, last);
                first++;
            }
        }

        public void FinalInsertion(int first, int last)
        {
            if (last - first > Threshold)
            {
                Insertion(first, first + Threshold);
                for (int i = first + Threshold; i < last; i++) UnguardedLinearInsert(i);
            }
            else Insertion(first, last);
        }

        void Insertion(int first, int last)
        {
            for (int i = first + 1; i < last; i++)
            {
                int v = a[i];
                if (Before(v, a[first]))
                {
                    Array.Copy(a, first, a, first + 1, i - first);
                    a[first] = v;
                }
                else UnguardedLinearInsert(i);
            }
        }

        void UnguardedLinearInsert(int last)
        {
            int v = a[last], next = last - 1;
            while (Before(v, a[next])) { a[last] = a[next]; last = next; next--; }
            a[last] = v;
        }

        void HeapSort(int first, int last)
        {
            int length = last - first;
            if (length >= 2)
                for (int parent = (length - 2) / 2; ; parent--)
                {
                    AdjustHeap(first, parent, length, a[first + parent]);
                    if (parent == 0) break;
                }
            while (last - first > 1)
            {
                last--;
                int v = a[last];
                a[last] = a[first];
                AdjustHeap(first, 0, last - first, v);
            }
        }

        void AdjustHeap(int first, int hole, int length, int value)
        {
            int top = hole, second = hole;
            while (second < (length - 1) / 2)
            {
                second = 2 * (second + 1);
                if (Before(a[first + second], a[first + second - 1])) second--;
                a[first + hole] = a[first + second];
                hole = second;
            }
            if ((length & 1) == 0 && second == (length - 2) / 2)
            {
                second = 2 * (second + 1);
                a[first + hole] = a[first + second - 1];
                hole = second - 1;
            }
            for (int parent = (hole - 1) / 2; hole > top && Before(a[first + parent], value); parent = (hole - 1) / 2)
            {
                a[first + hole] = a[first + parent];
                hole = parent;
            }
            a[first + hole] = value;
        }
    }
}
