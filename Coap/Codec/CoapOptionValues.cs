namespace NHub.Coap;

/// <summary>The values of one option number, enumerated without allocation.</summary>
public readonly struct CoapOptionValues
{
    private readonly List<CoapOption> _options;
    private readonly int _number;

    internal CoapOptionValues(List<CoapOption> options, int number)
    {
        _options = options;
        _number = number;
    }

    public Enumerator GetEnumerator() => new(_options, _number);

    public int Count
    {
        get
        {
            var count = 0;
            foreach (var _ in this)
            {
                count++;
            }
            return count;
        }
    }

    public struct Enumerator
    {
        private readonly List<CoapOption> _options;
        private readonly int _number;
        private int _index;

        internal Enumerator(List<CoapOption> options, int number)
        {
            _options = options;
            _number = number;
            _index = -1;
        }

        public readonly ReadOnlyMemory<byte> Current => _options[_index].Value;

        public bool MoveNext()
        {
            while (++_index < _options.Count)
            {
                var n = _options[_index].Number;
                if (n == _number)
                {
                    return true;
                }
                if (n > _number)
                {
                    break;
                }
            }
            _index = _options.Count;
            return false;
        }
    }
}
